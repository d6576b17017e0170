"""Prints IAM roles as IAM has them (trust, inline and attached policies, instance profiles, tags,
boundary).

Usage: show-iam.py ENDPOINT_URL [ROLE_NAME ...]   (all roles when no name is given)
Used by the sandbox to show what rolesmith did; talks only to the given (local) endpoint.
"""
import json
import sys
import urllib.parse

import boto3


def decode(document):
    # boto3 already decodes; a string would still be URL-encoded JSON.
    if isinstance(document, str):
        return json.loads(urllib.parse.unquote(document))
    return document


def main():
    endpoint = sys.argv[1]
    names = sys.argv[2:]
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
    if not names:
        names = [r["RoleName"] for page in iam.get_paginator("list_roles").paginate()
                 for r in page["Roles"]]
    for name in sorted(names):
        role = iam.get_role(RoleName=name)["Role"]
        inline = {}
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
            for policy_name in page["PolicyNames"]:
                inline[policy_name] = decode(
                    iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"])
        attached = [p["PolicyArn"]
                    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
                    for p in page["AttachedPolicies"]]
        print(f"== {role['Arn']}")
        print(f"   path: {role['Path']}   max session: {role.get('MaxSessionDuration')}s")
        if role.get("Description"):
            print(f"   description: {role['Description']}")
        print(f"   trust policy: {json.dumps(decode(role['AssumeRolePolicyDocument']), sort_keys=True)}")
        for policy_name, document in sorted(inline.items()):
            print(f"   inline {policy_name}: {json.dumps(document, sort_keys=True)}")
        for arn in attached:
            print(f"   attached: {arn}")
        for page in iam.get_paginator("list_instance_profiles_for_role").paginate(RoleName=name):
            for profile in page["InstanceProfiles"]:
                print(f"   instance profile: {profile['Arn']}")
        boundary = role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
        if boundary:
            print(f"   permissions boundary: {boundary}")
        for tag in sorted(role.get("Tags", []), key=lambda t: t["Key"]):
            print(f"   tag {tag['Key']} = {tag['Value']}")


if __name__ == "__main__":
    main()
