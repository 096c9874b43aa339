dataset = "s3://bucket/input"
shards  = 8
