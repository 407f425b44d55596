"""HTTP adapters: parse, authorise, call one service verb, render the answer."""
