dataset = "s3://bucket/input"
shards  = "many"
