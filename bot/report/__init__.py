"""`opsbot report`: what people asked, what the bot could not answer, and where to write next."""
