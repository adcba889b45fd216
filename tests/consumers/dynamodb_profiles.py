"""Reads taar-profiles' DynamoDB items back the way the TAAR service's
profile fetcher did (boto3, zlib, json), against the server in
AWS_ENDPOINT_URL.

usage: dynamodb_profiles.py create TABLE   create the table (partition key client_id)
       dynamodb_profiles.py dump TABLE     print {client_id: payload text} of every item

dump checks each item on the way: the payload is zlib, its JSON text is
exactly what Python's json.dumps writes for it, and its client_id is the
item's key (a second hashing, the original's bug, would break that).
"""

import json
import sys
import zlib

import boto3

command, table = sys.argv[1], sys.argv[2]
dynamodb = boto3.client("dynamodb")

if command == "create":
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "client_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "client_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
elif command == "dump":
    profiles = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            key = item["client_id"]["S"]
            text = zlib.decompress(item["json_payload"]["B"]).decode("utf8")
            profile = json.loads(text)
            assert json.dumps(profile) == text, f"{key}: not json.dumps text: {text}"
            assert profile["client_id"] == key, f"{key}: payload says {profile['client_id']}"
            assert int(item["TTL"]["N"]) > 0, f"{key}: TTL {item['TTL']}"
            assert key not in profiles, f"{key} twice"
            profiles[key] = text
    json.dump(profiles, sys.stdout)
else:
    sys.exit(f"unknown command {command}")
