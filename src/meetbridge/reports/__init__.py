"""Reports: reads of other modules' data (through their read functions), shaped for a page,
an API reply, a CSV and a chart. Nothing here writes."""
