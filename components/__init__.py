"""Rasa server plugins (NLU component, input channel, event broker): thin, over bot/."""
