dataset = "s3://bucket/input"
shard   = 3
