"""Drop-in compatible HTTP APIs: Kavenegar's REST API and Twilio's Messages resource.

Both call the same sending, billing and accounts services as the native API; what lives here is
the translation of their parameters, envelopes, status codes and error codes, plus what they need
that the native API does not have: verify/lookup templates, Twilio status callbacks (an outbox
written in the dispatcher's transaction and POSTed signed by a sender loop) and the Kavenegar inbox
read marker.
"""
