"""The simulation engine: agent arrays, the event calendar, queues, random streams, recording."""
