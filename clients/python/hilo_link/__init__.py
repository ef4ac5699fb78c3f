"""hilo_link — a Python client for the hilo connector link (docs/protocol.md), for gateway teams
that write a connector in Python: a WhatsApp BSP, an SMS aggregator or a voice platform adapter.

    from hilo_link import Link

    link = Link("tcp://10.0.0.5:5555", "sms", "acme-sms-1",
                server_key="<the router's public key: hilo link pubkey>",
                secret_key_file="/etc/acme/hilo-sms-1.key",        # hilo link keygen acme-sms
                on_outbound=lambda link, o: my_queue.put(o))
    link.start()
    link.wait_session(10)
    result = link.publish("SM123", "+16505551234", "hola").wait(10)
    if result and result.acked:
        ...  # durable in Redis: answer the provider's webhook 200
    # for each Outbound taken from my_queue, after the provider's API accepted it:
    link.report(o, "sent", provider_message_id="SM-provider-id")

The generated protobuf module is `hilo_link.hilo_link_pb2` (`hilo_link.pb`), generated from
proto/hilo_link.proto when the package is built; the classes it holds (Envelope, Outbound,
DeliveryReport, ...) are the ones the Link takes and gives.
"""

__version__ = "0.1.0"  # hilo's version (CMakeLists.txt project()): one protocol, one release

from .keys import LinkKeyError, public_key, read_secret_key  # noqa: E402
from .link import CHANNELS, PROTOCOL_MAJOR, PROTOCOL_MINOR, STATES, Link, Result, Ticket, pb  # noqa: E402

__all__ = ["Link", "Result", "Ticket", "LinkKeyError", "read_secret_key", "public_key", "pb", "CHANNELS",
           "STATES", "PROTOCOL_MAJOR", "PROTOCOL_MINOR", "__version__"]
