"""Table tests for the pure IAM rule checks the example tests rely on."""

import unittest

from iam_rules import spec_problems, wildcard_principal_problems

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def spec(**over):
    base = {"assumeRolePolicy": TRUST}
    base.update(over)
    return base


class SpecProblems(unittest.TestCase):
    def test_table(self):
        cases = [
            ("minimal spec", spec(), 0),
            ("name with space", spec(roleName="a b"), 1),
            ("name of 65 chars", spec(roleName="a" * 65), 1),
            ("path without trailing slash", spec(path="/a"), 1),
            ("nested path", spec(path="/a/b/"), 0),
            ("session too short", spec(maxSessionDuration=900), 1),
            ("session too long", spec(maxSessionDuration=43201), 1),
            ("missing version", spec(assumeRolePolicy={"Statement": []}), 1),
            ("reserved tag", spec(tags={"aws:x": "1"}), 1),
            ("numeric tag value", spec(tags={"cost": 4711}), 1),
            ("bad deletion policy", spec(deletionPolicy="Orphan"), 1),
            ("eleven managed", spec(managedPolicyArns=[f"arn:{i}" for i in range(11)]), 1),
            ("inline without version", spec(inlinePolicies={"p": {"Statement": []}}), 1),
        ]
        for label, s, n in cases:
            with self.subTest(label):
                self.assertEqual(len(spec_problems(s)), n, spec_problems(s))

    def test_wildcard_principal(self):
        def trust(principal, condition=None):
            stmt = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
            if condition:
                stmt["Condition"] = condition
            return {"Version": "2012-10-17", "Statement": [stmt]}

        org = {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}
        cases = [
            ("bare star", trust("*"), 1),
            ("AWS star", trust({"AWS": "*"}), 1),
            ("AWS star in list", trust({"AWS": ["arn:aws:iam::1:root", "*"]}), 1),
            ("star with org condition", trust({"AWS": "*"}, org), 0),
            ("account principal", trust({"AWS": "arn:aws:iam::111122223333:root"}), 0),
        ]
        for label, t, n in cases:
            with self.subTest(label):
                self.assertEqual(len(wildcard_principal_problems(t)), n)


if __name__ == "__main__":
    unittest.main()
