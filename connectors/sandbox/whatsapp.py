"""whatsapp.py — the fake Meta side of WhatsApp: the Graph API send endpoint the connector
calls, the status webhooks that follow a send, and the inbound webhooks a debtor's phone
produces. Payload shapes follow the fixtures (wa_send_response_example.json, wa_status_*.json,
wa_inbound_*.json); signatures are X-Hub-Signature-256 over the exact bytes sent.
"""

import base64
import hmac
import json
import secrets
import string
import time
import urllib.parse

import signing
from store import e164

TEXT_MAX = 4096          # Cloud API text body limit
BUTTONS_MAX = 3          # reply buttons per interactive message
BUTTON_TITLE_MAX = 20

# Graph-style errors for injected or real failures: status -> (code, message).
GRAPH_ERRORS = {
    400: (100, "Invalid parameter"),
    401: (190, "Invalid OAuth access token - Cannot parse access token"),
    403: (200, "Permission denied"),
    404: (803, "Some of the aliases you requested do not exist"),
    429: (130429, "Rate limit hit"),
    500: (131000, "Something went wrong"),
    503: (131016, "Service temporarily unavailable"),
}


def new_wamid(phone_digits):
    """A fresh id shaped like Meta's: 'wamid.' + base64 of (phone, random hex)."""
    raw = (b"\x1c\x18\x0b" + phone_digits.encode() + b"\x15\x02\x00\x12\x18\x14" +
           secrets.token_hex(10).upper().encode() + b"\x00")
    return "wamid." + base64.b64encode(raw).decode("ascii")


def fbtrace_id():
    alphabet = string.ascii_letters + string.digits
    return "A" + "".join(secrets.choice(alphabet) for _ in range(22))


def graph_error(status, code=None, message=None, details=None):
    dcode, dmsg = GRAPH_ERRORS.get(status, (1, "An unknown error occurred"))
    code = dcode if code is None else code
    message = message or dmsg
    err = {"message": "(#%s) %s" % (code, message) if status != 401 else message,
           "type": "OAuthException", "code": code, "fbtrace_id": fbtrace_id()}
    if details:
        err["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": err}


def _envelope(wa, value):
    """The webhook wrapper every WhatsApp notification shares."""
    value = dict(value, messaging_product="whatsapp",
                 metadata={"display_phone_number": wa.display_phone_number,
                           "phone_number_id": wa.phone_number_id})
    # messaging_product and metadata first, as Meta orders them
    ordered = {"messaging_product": value.pop("messaging_product"), "metadata": value.pop("metadata")}
    ordered.update(value)
    return {"object": "whatsapp_business_account",
            "entry": [{"id": wa.business_account_id,
                       "changes": [{"value": ordered, "field": "messages"}]}]}


def _post_args(sb, kind, payload, ref):
    """Serializes compactly with non-ASCII escaped (as Meta sends it) and signs those bytes."""
    wa = sb.settings.whatsapp
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": "application/json",
               "User-Agent": "facebookexternalua",
               "X-Hub-Signature": signing.meta_signature_sha1(wa.app_secret, body),
               "X-Hub-Signature-256": signing.meta_signature_256(wa.app_secret, body)}
    return dict(kind=kind, channel="whatsapp", url=wa.webhook, body=body, headers=headers, ref=ref)


# ---- Graph API: POST /{version}/{phone_number_id}/messages -----------------------------------

def _describe(msg):
    """Transcript fields for an outbound message body."""
    kind = msg.get("type", "text")
    item = {"kind": kind, "text": ""}
    if kind == "text":
        item["text"] = (msg.get("text") or {}).get("body", "")
    elif kind == "interactive":
        inter = msg.get("interactive") or {}
        item["text"] = (inter.get("body") or {}).get("text", "")
        buttons = ((inter.get("action") or {}).get("buttons")) or []
        item["buttons"] = [{"id": (b.get("reply") or {}).get("id", ""),
                            "title": (b.get("reply") or {}).get("title", "")} for b in buttons]
    elif kind == "template":
        tpl = msg.get("template") or {}
        params = []
        for comp in tpl.get("components") or []:
            for p in comp.get("parameters") or []:
                params.append(str(p.get("text", p.get(p.get("type", ""), ""))))
        item["template"] = {"name": tpl.get("name", ""),
                            "language": (tpl.get("language") or {}).get("code", ""),
                            "parameters": params}
        item["text"] = " | ".join(params)  # the page shows the template's name beside it
    else:
        item["text"] = "[%s]" % kind
    return item


def _validate(msg):
    """None if Meta would accept the body, else (code, message)."""
    if not isinstance(msg, dict):
        return 100, "Invalid parameter"
    if msg.get("messaging_product") != "whatsapp":
        return 100, "The parameter messaging_product is required."
    if msg.get("status") == "read":
        return None if msg.get("message_id") else (100, "The parameter message_id is required.")
    if not msg.get("to"):
        return 100, "The parameter to is required."
    kind = msg.get("type", "text")
    if kind == "text":
        body = (msg.get("text") or {}).get("body")
        if not isinstance(body, str) or not body:
            return 100, "The parameter text['body'] is required."
        if len(body) > TEXT_MAX:
            return 100, "Param text['body'] must be at most %d characters long." % TEXT_MAX
    elif kind == "interactive":
        inter = msg.get("interactive") or {}
        if not (inter.get("body") or {}).get("text"):
            return 100, "The parameter interactive['body']['text'] is required."
        if inter.get("type") == "button":
            buttons = (inter.get("action") or {}).get("buttons") or []
            ids = [(b.get("reply") or {}).get("id") for b in buttons]
            titles = [(b.get("reply") or {}).get("title") or "" for b in buttons]
            if not 1 <= len(buttons) <= BUTTONS_MAX or not all(ids) or len(set(ids)) != len(ids):
                return 131009, "Parameter value is not valid"
            if any(not t or len(t) > BUTTON_TITLE_MAX for t in titles):
                return 131009, "Parameter value is not valid"
    elif kind == "template":
        tpl = msg.get("template") or {}
        if not tpl.get("name") or not (tpl.get("language") or {}).get("code"):
            return 100, "The parameter template['name'] and template['language']['code'] are required."
    return None


def graph_send(sb, method, path, version, phone_number_id, headers, raw):
    """Handles one Graph API call. Returns (status, response object) and records the call."""
    wa = sb.settings.whatsapp
    record = {"api": "whatsapp", "ms": int(time.time() * 1000), "method": method, "path": path,
              "version": version, "phone_number_id": phone_number_id,
              "headers": dict(headers), "raw": raw.decode("utf-8", "replace"), "body": None, "to": None}

    def done(status, obj):
        record["response"] = {"status": status, "body": obj}
        sb.store.record_call(record)
        return status, obj

    try:
        msg = json.loads(raw.decode("utf-8")) if raw else None
        record["body"] = msg
    except (UnicodeDecodeError, ValueError):
        msg = None
    if isinstance(msg, dict) and msg.get("to"):
        record["to"] = e164(str(msg["to"]))

    rule = sb.store.take_rule("whatsapp", deliver=False, to=record.get("to"),
                              text=raw.decode("utf-8", "replace") if raw else "")
    if rule:
        if rule.delay_ms:
            time.sleep(rule.delay_ms / 1000.0)
        if rule.status:
            return done(rule.status, graph_error(rule.status, rule.code, rule.message))

    auth = headers.get("Authorization", "")
    token = auth[7:] if auth.startswith("Bearer ") else ""
    if not token or not hmac.compare_digest(token.encode(), wa.access_token.encode()):
        return done(401, graph_error(401))
    if phone_number_id != wa.phone_number_id:
        return done(400, graph_error(400, 100, "Unsupported post request. Object with ID '%s' does not "
                                                "exist, cannot be loaded due to missing permissions, or "
                                                "does not support this operation" % phone_number_id))
    if msg is None:
        return done(400, graph_error(400, 100, "Invalid parameter", "The request body is not valid JSON"))
    bad = _validate(msg)
    if bad:
        return done(400, graph_error(400, bad[0], bad[1]))

    if msg.get("status") == "read":  # the business marks a debtor's message as read
        phone, item = sb.store.item_by_pmid(msg["message_id"])
        if item is not None:
            sb.store.update_item(phone, item, read_by_business=True)
        return done(200, {"success": True})

    to = str(msg["to"])
    phone = e164(to)
    digits = phone[1:]
    wamid = new_wamid(digits)
    item = dict(_describe(msg), channel="whatsapp", dir="out", pmid=wamid, status="accepted")
    sb.store.add_item(phone, item)
    _schedule_statuses(sb, phone, item, msg)
    return done(200, {"messaging_product": "whatsapp",
                      "contacts": [{"input": to, "wa_id": digits}],
                      "messages": [{"id": wamid}]})


# ---- status webhooks ---------------------------------------------------------------------------

def _status_value(wamid, status, recipient, conversation_id, error=None):
    st = {"id": wamid, "status": status, "timestamp": str(int(time.time())), "recipient_id": recipient}
    if error:
        st["errors"] = [{"code": error[0], "title": error[1], "message": error[1],
                         "error_data": {"details": error[1]},
                         "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]
    else:
        conv = {"id": conversation_id, "origin": {"type": "service"}}
        if status == "sent":
            conv["expiration_timestamp"] = str(int(time.time()) + 86400)
        st["conversation"] = conv
        st["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "service"}
    return {"statuses": [st]}


def _schedule_statuses(sb, phone, item, msg):
    """sent -> delivered -> read, each ~100-300 ms after the previous one was answered; or a
    single 'failed' when a deliver rule or the 24-hour window says so."""
    wamid, recipient = item["pmid"], phone[1:]
    error = None
    rule = sb.store.take_rule("whatsapp", deliver=True, to=phone)
    if rule:
        error = (rule.code or 131026, rule.message or "Message undeliverable")
    elif sb.settings.wa_window_s and msg.get("type", "text") != "template":
        since = sb.store.since_inbound("whatsapp", phone)
        if since is None or since > sb.settings.wa_window_s:
            error = (131047, "Re-engagement message")
    steps = ["failed"] if error else ["sent", "delivered"] + (["read"] if sb.settings.wa_read else [])
    conversation_id = secrets.token_hex(15)

    def step(i):
        if i >= len(steps):
            return
        status = steps[i]

        def make():
            sb.store.update_item(phone, item, status=status,
                                 **({"error": "%s %s" % error} if error else {}))
            payload = _envelope(sb.settings.whatsapp,
                                _status_value(wamid, status, recipient, conversation_id, error))
            return _post_args(sb, "whatsapp.status", payload, wamid)
        sb.post_async(sb.status_delay(), make, on_done=lambda ok: step(i + 1))
    step(0)


# ---- the debtor's phone: inbound webhooks --------------------------------------------------------

def _media_type(mime):
    top = (mime or "").split("/")[0]
    return {"image": "image", "audio": "audio", "video": "video"}.get(top, "document")


def debtor_send(sb, phone, req):
    """Builds the inbound webhook for what the debtor did (text, reply button, template quick
    reply or media) and adds it to the transcript. Returns (post_webhook kwargs, item)."""
    wa = sb.settings.whatsapp
    digits = phone[1:]
    wamid = new_wamid(digits)
    msg = {"from": digits, "id": wamid, "timestamp": str(int(time.time()))}
    item = {"channel": "whatsapp", "dir": "in", "pmid": wamid}
    button, quick, media = req.get("button"), req.get("quick_reply"), req.get("media")
    if button or quick:
        context_id = req.get("context_id") or _context_for(sb, phone, (button or {}).get("id"))
        if context_id:
            msg["context"] = {"from": wa.display_phone_number, "id": context_id}
    if button:
        msg["type"] = "interactive"
        msg["interactive"] = {"type": "button_reply",
                              "button_reply": {"id": str(button.get("id", "")),
                                               "title": str(button.get("title", ""))}}
        item.update(kind="button", text=str(button.get("title", "")), button=msg["interactive"]["button_reply"])
    elif quick:
        msg["type"] = "button"
        msg["button"] = {"payload": str(quick.get("payload", "")), "text": str(quick.get("text", ""))}
        item.update(kind="button", text=msg["button"]["text"], button=msg["button"])
    elif media:
        m = media[0] if isinstance(media, list) else media
        mtype = _media_type(m.get("mime_type"))
        obj = {"mime_type": m.get("mime_type", "image/jpeg"),
               "sha256": base64.b64encode(secrets.token_bytes(32)).decode(),
               "id": str(secrets.randbelow(10 ** 15) + 10 ** 15)}
        if m.get("caption"):
            obj["caption"] = str(m["caption"])
        msg["type"] = mtype
        msg[mtype] = obj
        item.update(kind="media", text=obj.get("caption", "[%s]" % mtype), media=obj)
    else:
        msg["type"] = "text"
        msg["text"] = {"body": str(req.get("text", ""))}
        item.update(kind="text", text=msg["text"]["body"])
    value = {"contacts": [{"profile": {"name": str(req.get("name") or "Sandbox Debtor")}, "wa_id": digits}],
             "messages": [msg]}
    payload = _envelope(wa, value)
    sb.store.add_item(phone, item)
    sb.store.mark_inbound("whatsapp", phone)
    return _post_args(sb, "whatsapp.message", payload, wamid), item


def _context_for(sb, phone, button_id):
    """The wamid of the latest message to this phone that offered this button (what the
    debtor's WhatsApp puts in `context` when a reply button is pressed)."""
    view = sb.store.phone_view(phone)
    for it in reversed(view["items"]):
        if it["channel"] == "whatsapp" and it["dir"] == "out":
            if button_id is None or any(b["id"] == button_id for b in it.get("buttons", [])):
                return it["pmid"]
    return None


def verify_args(sb, token=None, challenge=None):
    """The GET handshake Meta does when a webhook is configured (wa_verify_handshake.http)."""
    wa = sb.settings.whatsapp
    challenge = challenge or str(secrets.randbelow(10 ** 10))
    query = urllib.parse.urlencode({"hub.mode": "subscribe", "hub.challenge": challenge,
                                    "hub.verify_token": wa.verify_token if token is None else token})
    sep = "&" if "?" in wa.webhook else "?"
    return dict(kind="whatsapp.verify", channel="whatsapp", url=wa.webhook + sep + query, body=b"",
                headers={"User-Agent": "facebookplatform/1.0"}, method="GET"), challenge
