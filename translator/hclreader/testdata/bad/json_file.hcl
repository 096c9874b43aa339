{
  "name": "blast",
  "schemaVersion": "1.5",
  "workflow": {}
}
