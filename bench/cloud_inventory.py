"""Benchmark: an AWS account's `aws ec2 describe-instances` of N instances imported, then again
(nothing changed), then its SSM report; figures in bench/README.md.

    POSTURE_DEBUG=1 .venv/bin/python bench/cloud_inventory.py [--instances 10000]
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import setup_django, timed

ZONE = "eu-west-1"


def describe_instances(count: int) -> bytes:
    reservations = [
        {
            "OwnerId": "111122223333",
            "Instances": [
                {
                    "InstanceId": f"i-{n:017x}",
                    "Placement": {"AvailabilityZone": "eu-west-1" + "abc"[n % 3]},
                    "State": {"Name": "running" if n % 10 else "stopped"},
                    "PlatformDetails": "Windows" if n % 7 == 0 else "Linux/UNIX",
                    "PrivateDnsName": f"ip-10-{n // 256 % 256}-{n % 256}-1.{ZONE}.compute.internal",
                    "Tags": [{"Key": "Name", "Value": f"node-{n:05d}"}, {"Key": "env", "Value": "prod"}],
                }
            ],
        }
        for n in range(count)
    ]
    return json.dumps({"Reservations": reservations}).encode()


def instance_information(count: int) -> bytes:
    items = [
        {
            "InstanceId": f"i-{n:017x}",
            "PingStatus": "Online",
            "PlatformType": "Linux",
            "AgentVersion": "3.3.1",
        }
        for n in range(0, count, 2)
    ]
    return json.dumps({"InstanceInformationList": items}).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=10_000)
    count = parser.parse_args().instances
    setup_django(fresh=True)
    from intake.pipeline import ingest_file

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as directory:
        ec2 = Path(directory) / "ec2.json"
        ssm = Path(directory) / "ssm.json"
        ec2.write_bytes(describe_instances(count))
        ssm.write_bytes(instance_information(count))
        for label, path in (("ec2 first import", ec2), ("ec2 again (unchanged)", ec2), ("ssm report", ssm)):
            with timed(label, results):
                outcome = ingest_file(path)
            assert outcome.status == "imported", outcome.error
    for label, seconds in results.items():
        print(f"{label:24} {seconds:7.2f} s  {count / seconds:8.0f} instances/s")


if __name__ == "__main__":
    main()
