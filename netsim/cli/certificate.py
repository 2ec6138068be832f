"""`netsim certificate approve|deny NAME...`: decide CertificateSigningRequests as kubectl does, then run the
kube-apiserver-client signer, which issues the certificate from the emulated cluster CA.

Output is kubectl's (`certificatesigningrequest.certificates.k8s.io/NAME approved`);
`--print-certificate` adds the issued certificate in PEM, as
`kubectl get csr NAME -o jsonpath='{.status.certificate}' | base64 -d` shows it.
The CA's key and every serial come from the cluster's seed; the time is the
simulated clock's.
"""

from __future__ import annotations

import argparse
import base64
import sys

from netsim.cli.options import add_cluster_options, cluster_inputs


def register(sub) -> None:
    """`netsim certificate approve|deny`."""
    parser = sub.add_parser("certificate", help="approve or deny certificate signing requests")
    verbs = parser.add_subparsers(dest="certificate_command", metavar="SUBCOMMAND", required=True)
    for verb, text in (("approve", "approve a certificate signing request"),
                       ("deny", "deny a certificate signing request")):
        p = verbs.add_parser(verb, help=text)
        p.add_argument("names", nargs="+", metavar="NAME", help="CertificateSigningRequest name")
        p.add_argument("--force", action="store_true", help="update the request even if already in that state")
        p.add_argument("--print-certificate", action="store_true", help="print each issued certificate (PEM)")
        add_cluster_options(p)
        p.set_defaults(handler=_decide, approve=verb == "approve")


def _decide(args: argparse.Namespace) -> int:
    from netsim.auth import certificates as certs
    from netsim.sim.rng import Random

    cluster = cluster_inputs(args).build()
    store, now = cluster.store, cluster.clock.now()
    for name in args.names:
        decide = certs.approve if args.approve else certs.deny
        sys.stdout.write(decide(store, name, now, args.force) + "\n")
    ca = certs.ca_for_seed(cluster.seed, cluster.clock.start)
    certs.reconcile(store, ca, now, Random(cluster.seed).child("csr-signer").generator)
    if args.print_certificate:
        for name in args.names:
            data = store.get("CertificateSigningRequest", name).status.get("certificate")
            if data:
                sys.stdout.write(base64.b64decode(data).decode())
    return 0
