"""Escalation alerts: written with the assessment that caused them, then delivered,
acknowledged and re-escalated.

    policy.py      pure rules: episodes, routing, escalation deadlines, backoff
    alerts.py      alert state in the caller's transaction: raise, acknowledge, escalate
    outbox.py      the delivery queue kept in crisis_alert: due, claim, record, finish
    notifiers/     one module per channel (email, webhook)
    dispatcher.py  `python -m bot.escalation.dispatcher`: the delivering process
    digest.py      `python -m bot.escalation.digest`: the daily review-level digest
    tokens.py      links to alerts and signed acknowledgement tokens
"""
