"""Running the servers: the operator CLI, the durable spool and writers, turn recording, the chat gate and relay."""
