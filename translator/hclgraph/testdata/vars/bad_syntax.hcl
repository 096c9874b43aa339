shards = = 3
