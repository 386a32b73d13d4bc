"""The conversation with a patient: journaling, grounding, check-ins, the crisis protocol and its screener."""
