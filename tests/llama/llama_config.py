"""Names and prices the llama.cpp server tests share."""

# What the tests call the model: the server answers to any name. "text-" makes ecoptigen use the
# completions endpoint for it; other unknown names go to the chat endpoint.
CHAT_MODEL = "tiny-llama"
COMPLETION_MODEL = "text-tiny-llama"
PRICE = [0.002, 0.004]  # the user's price: dollars per 1K input and per 1K output tokens


def cost_of(usage: dict) -> float:
    """What ``usage`` costs at the user's price."""
    return (usage["prompt_tokens"] * PRICE[0] + usage["completion_tokens"] * PRICE[1]) / 1000
