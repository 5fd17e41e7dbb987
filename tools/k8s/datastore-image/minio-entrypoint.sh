#!/bin/sh
# MinIO in k8s/datastores-plain: serves /data on :9000 and creates the buckets
# named in $MINIO_BUCKETS (space-separated) once it is ready (the app expects
# its bucket to exist; a bucket that exists already is left alone).
set -eu
minio server /data --address :9000 --console-address 127.0.0.1:9001 &
pid=$!
trap 'kill -TERM "$pid"' TERM INT
until curl -fsS -o /dev/null http://127.0.0.1:9000/minio/health/ready; do
    kill -0 "$pid" 2>/dev/null || exit 1
    sleep 0.5
done
for bucket in ${MINIO_BUCKETS:-}; do
    code="$(curl -sS -o /dev/null -w '%{http_code}' -X PUT \
        --aws-sigv4 "aws:amz:${MINIO_REGION:-us-east-1}:s3" \
        --user "$MINIO_ROOT_USER:$MINIO_ROOT_PASSWORD" "http://127.0.0.1:9000/$bucket")"
    echo "bucket $bucket: HTTP $code (200 created, 409 exists)"
done
wait "$pid"
