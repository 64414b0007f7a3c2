"""Our webhooks pass Twilio's own `RequestValidator`, and Twilio-signed provider webhooks are
what our inbound endpoint verifies: signatures checked both ways with the official library."""

import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from twilio.request_validator import RequestValidator


class _Receiver:
    """A local HTTP endpoint that records form posts and answers 200."""

    def __init__(self):
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                receiver.requests.append(
                    {
                        "path": self.path,
                        "params": dict(urllib.parse.parse_qsl(body, keep_blank_values=True)),
                        "signature": self.headers.get("X-Twilio-Signature"),
                        "token": self.headers.get("I-Twilio-Idempotency-Token"),
                    }
                )
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, count, deadline=10.0):
        end = time.time() + deadline
        while time.time() < end and len(self.requests) < count:
            time.sleep(0.05)
        return self.requests

    def close(self):
        self.httpd.shutdown()


def test_post_event_webhooks_validate_with_twilios_request_validator(client, server):
    receiver = _Receiver()
    try:
        url = f"http://127.0.0.1:{receiver.port}/hook?tenant=acme"
        service = client.conversations.v1.services.create(friendly_name="signed hooks")
        svc = client.conversations.v1.services(service.sid)
        svc.configuration.webhooks().update(
            post_webhook_url=url,
            filters=["onConversationAdded", "onMessageAdded"],
            method="POST",
        )
        conversation = svc.conversations.create(
            friendly_name="validated", x_twilio_webhook_enabled="true"
        )
        svc.conversations(conversation.sid).messages.create(
            author="alice",
            body="50% off & free shipping: ü",
            x_twilio_webhook_enabled="true",
        )
        got = receiver.wait_for(2)
        assert [r["params"]["EventType"] for r in got] == [
            "onConversationAdded",
            "onMessageAdded",
        ]
        validator = RequestValidator(server.auth_token)
        for request in got:
            assert validator.validate(url, request["params"], request["signature"])
            assert request["token"]
        message = got[1]["params"]
        assert message["Body"] == "50% off & free shipping: ü"
        assert message["ConversationSid"] == conversation.sid
        tampered = dict(message, Body="something else")
        assert not validator.validate(url, tampered, got[1]["signature"])
        assert not RequestValidator("another token").validate(
            url, message, got[1]["signature"]
        )
    finally:
        receiver.close()


def test_provider_webhooks_signed_by_twilios_library_are_accepted_and_forgeries_refused(
    client, server, uid
):
    from conftest import PROVIDER_AUTH_TOKEN

    number = "+1555" + str(int(uid, 16))[:7]
    client.conversations.v1.address_configurations.create(
        type="sms", address=number, auto_creation_enabled=True, auto_creation_type="default"
    )
    url = server.base + "/channels/twilio/inbound"
    customer = "+1666" + str(int(uid, 16))[:7]

    def post(params, token):
        body = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(url, data=body, method="POST")
        signature = RequestValidator(token).compute_signature(url, params)
        request.add_header("X-Twilio-Signature", signature)
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    params = {"From": customer, "To": number, "Body": "hello", "MessageSid": "SM" + uid}
    status, body = post(params, PROVIDER_AUTH_TOKEN)
    assert status == 200, body
    assert body.startswith(b"<?xml")
    status, body = post(dict(params, Body="forged"), "not the provider's token")
    assert status == 403
    found = client.conversations.v1.participant_conversations.list(address=customer)
    assert len(found) == 1
    messages = client.conversations.v1.conversations(found[0].conversation_sid).messages.list()
    assert [m.body for m in messages] == ["hello"]
