"""The prompt library: WAV prompts operators upload for Graph to play."""
