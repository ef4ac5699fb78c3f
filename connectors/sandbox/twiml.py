"""twiml.py — reads the TwiML a connector answers with into plain dicts the sandbox (and its
tests, and the phone page) can act on.

Every verb becomes {"verb": tag, "attrs": {...}, "text": collapsed text}, plus a few
convenience keys: Say/Play/Message keep "text" (and Say "language"), Gather has "children"
(the verbs nested in it), Dial has "target" and "nouns" (Number, Queue, Sip, Client...),
Enqueue has "queue", Redirect has "url". Unknown verbs are kept generically, never an error:
Twilio adds verbs over time and the sandbox should show them rather than fail.
"""

import xml.etree.ElementTree as ET


class TwimlError(ValueError):
    """The body is not TwiML: not XML, or the root is not <Response>."""


def _text(el):
    """The element's own text, whitespace collapsed (speech does not care about line breaks)."""
    return " ".join((el.text or "").split())


def _verb(el):
    verb = {"verb": el.tag, "attrs": dict(el.attrib), "text": _text(el)}
    if el.tag == "Say":
        verb["language"] = el.get("language")
        verb["voice"] = el.get("voice")
    elif el.tag == "Gather":
        verb["children"] = [_verb(child) for child in el]
    elif el.tag == "Dial":
        nouns = [{"noun": n.tag, "attrs": dict(n.attrib), "text": _text(n)} for n in el]
        verb["nouns"] = nouns
        # <Dial>+15551234</Dial> dials its text; otherwise the first noun says where to.
        verb["target"] = verb["text"] or (nouns[0]["text"] if nouns else "")
    elif el.tag == "Enqueue":
        verb["queue"] = verb["text"]
    elif el.tag == "Redirect":
        verb["url"] = verb["text"]
    return verb


def parse(body):
    """TwiML text (str or bytes) -> list of verb dicts, in document order. Raises TwimlError."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise TwimlError("not XML: %s" % e) from None
    if root.tag != "Response":
        raise TwimlError("root element is <%s>, not <Response>" % root.tag)
    return [_verb(el) for el in root]
