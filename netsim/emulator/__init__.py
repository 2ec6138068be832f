"""The glue users hold: api state and topology in, a running emulated cluster out."""
