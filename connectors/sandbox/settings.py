"""settings.py — what the sandbox needs from hilo.conf, the environment and its command line.

The connectors and the sandbox read the same file, so the secrets agree by construction:
the sandbox signs webhooks with the connectors' app secret / auth token and checks the
connectors' API credentials. The file is INI as read by proto/src/config.c (`[section]`,
`key = value`, `#`/`;` comments, a value in double quotes keeps its quotes off); any key may be
overridden by the environment variable HILO_<SECTION>_<KEY> (upper-case, every character that
is not a letter or digit becomes '_'). Unknown sections and keys are ignored here: the
connectors own their sections and validate them.
"""

import configparser
import os
import re
import urllib.parse

_TOP = "\x01top"  # section name for keys before the first [section] (config.c allows them)


def env_name(section, key):
    """HILO_<SECTION>_<KEY>, the rule of proto/src/config.c."""
    def up(s):
        return re.sub(r"[^A-Za-z0-9]", "_", s).upper()
    return "HILO_%s_%s" % (up(section), up(key))


class IniFile:
    """An INI file read with configparser, plus the HILO_* environment overrides."""

    def __init__(self, path=None, environ=None):
        self.path = path
        self.environ = os.environ if environ is None else environ
        self._cp = configparser.ConfigParser(delimiters=("=",), comment_prefixes=("#", ";"),
                                             interpolation=None, strict=False,
                                             default_section="\x01defaults")
        self._cp.optionxform = str  # keys are case-sensitive, as in config.c
        if path:
            with open(path, encoding="utf-8") as f:
                # config.c trims every line, so indentation never means "continuation" there.
                lines = [line.strip() for line in f]
            self._cp.read_string("[%s]\n%s\n" % (_TOP, "\n".join(lines)), source=path)

    def get(self, section, key, default=None):
        env = self.environ.get(env_name(section, key))
        if env is not None:
            return env
        if self._cp.has_option(section, key):
            value = self._cp.get(section, key)
            if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
                value = value[1:-1]
            return value
        return default

    def get_int(self, section, key, default):
        value = self.get(section, key)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise SystemExit("%s: [%s] %s: not an integer (got %r)" % (self.path, section, key, value))


# Defaults used when hilo.conf has no such key: they only need to agree between the sandbox
# and the connectors, which read the same file. Documented in docs/sandbox.md.
DEFAULTS = {
    "whatsapp": {
        "app_secret": "sandbox-app-secret",
        "access_token": "sandbox-access-token",
        "verify_token": "sandbox-verify-token",
        "phone_number_id": "106540352242922",
        "display_phone_number": "15550783881",
        "business_account_id": "102290129340398",
        "api_version": "v21.0",
        "http_port": 8081,
    },
    "sms": {
        "account_sid": "AC00000000000000000000000000000000",
        "auth_token": "sandbox-auth-token",
        "from": "+15005550006",
        "http_port": 8082,
        "public_url": "",
    },
    "voice": {
        "account_sid": "AC00000000000000000000000000000000",
        "auth_token": "sandbox-auth-token",
        "from": "+15005550006",
        "http_port": 8083,
        "public_url": "",
    },
}

WEBHOOK_PATHS = {
    "whatsapp": "/webhooks/whatsapp",
    "sms": "/webhooks/twilio/sms",
    "voice": "/webhooks/twilio/voice",
    "voice_status": "/webhooks/twilio/voice/status",
}


def path_and_query(url):
    u = urllib.parse.urlsplit(url)
    return (u.path or "/") + ("?" + u.query if u.query else "")


def origin(url):
    u = urllib.parse.urlsplit(url)
    return "%s://%s" % (u.scheme, u.netloc)


class TwilioChannel:
    """One Twilio-signed channel (sms or voice): credentials and the two URL worlds.

    Twilio requests (and signs) *public* URLs; behind a proxy they reach the connector at a
    *local* URL. The sandbox delivers to the local URL and signs the public one, exactly what
    a connector behind a TLS proxy sees. public_url is the base the connector is configured
    with ("https://hilo.example.com"); without it the two worlds are the same.
    """

    def __init__(self, name, ini, webhook=None, status_webhook=None):
        d = DEFAULTS[name]
        self.name = name
        self.account_sid = ini.get(name, "account_sid", d["account_sid"])
        self.auth_token = ini.get(name, "auth_token", d["auth_token"])
        self.number = ini.get(name, "from", d["from"])
        self.http_port = ini.get_int(name, "http_port", d["http_port"])
        self.public_url = (ini.get(name, "public_url", d["public_url"]) or "").rstrip("/")
        self.webhook = webhook or "http://127.0.0.1:%d%s" % (self.http_port, WEBHOOK_PATHS[name])
        self.local_base = origin(self.webhook)
        self.status_webhook = status_webhook  # override for status callbacks (None = as asked)

    def public(self, local_url):
        """The URL Twilio would have requested for a request that arrives at local_url."""
        if self.public_url:
            return self.public_url + path_and_query(local_url)
        return local_url

    def local(self, public_url):
        """Where to deliver a request Twilio makes to public_url (inverse of public())."""
        if self.public_url and (public_url == self.public_url or
                                public_url.startswith(self.public_url + "/") or
                                public_url.startswith(self.public_url + "?")):
            return self.local_base + public_url[len(self.public_url):]
        return public_url


class WhatsAppChannel:
    def __init__(self, ini, webhook=None):
        d = DEFAULTS["whatsapp"]
        g = lambda k: ini.get("whatsapp", k, d[k])  # noqa: E731
        self.app_secret = g("app_secret")
        self.access_token = g("access_token")
        self.verify_token = g("verify_token")
        self.phone_number_id = g("phone_number_id")
        self.display_phone_number = g("display_phone_number").lstrip("+")
        self.business_account_id = g("business_account_id")
        self.api_version = g("api_version")
        self.http_port = ini.get_int("whatsapp", "http_port", d["http_port"])
        self.webhook = webhook or "http://127.0.0.1:%d%s" % (self.http_port, WEBHOOK_PATHS["whatsapp"])


class Settings:
    """Everything configurable, resolved once at start-up."""

    def __init__(self, args, environ=None):
        ini = IniFile(args.config, environ)
        self.config_path = args.config
        self.whatsapp = WhatsAppChannel(ini, args.whatsapp_webhook)
        self.sms = TwilioChannel("sms", ini, args.sms_webhook, args.sms_status_webhook)
        self.voice = TwilioChannel("voice", ini, args.voice_webhook)
        self.voice_status_webhook = (args.voice_status_webhook or
                                     self.voice.local_base + WEBHOOK_PATHS["voice_status"])
        lo, _, hi = args.status_delay_ms.partition("-")
        self.status_delay_ms = (int(lo), int(hi or lo))
        self.webhook_timeout_s = args.webhook_timeout
        self.webhook_retries = args.webhook_retries
        self.wa_window_s = args.wa_window_seconds
        self.wa_read = not args.no_read
