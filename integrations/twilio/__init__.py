"""Everything Twilio-specific, in one place (the webhooks themselves live in ``bot.webhooks``).

- ``client``: sending through the Messages API, and reading its message list
- ``content``: WhatsApp buttons and lists: the Content API templates, and filling one
- ``errors``: Twilio's error codes and what they mean for us; the errors sending raises
- ``signature``: checking ``X-Twilio-Signature`` on a webhook
- ``addresses``: the ``whatsapp:`` address prefix
- ``twiml``: a reply as TwiML, split to Twilio's body limit
- ``gsm7``: text an SMS carries in GSM-7
"""
