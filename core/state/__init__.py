"""The view state: the typed, frozen ViewState and its link (query string) codec."""
