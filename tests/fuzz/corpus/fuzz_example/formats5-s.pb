


s

ab