"""Views: ViewState + Dataset -> the tidy results each page shows and the CLI prints."""
