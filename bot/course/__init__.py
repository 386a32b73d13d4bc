"""The treatment course: where a patient is between infusions and integration sessions."""
