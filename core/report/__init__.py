"""Reports: HTML/PDF report, narrative, summary of findings, R script, figure export."""
