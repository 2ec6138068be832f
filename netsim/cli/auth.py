"""`netsim auth can-i`: ask the cluster's RBAC authorizer, as `kubectl auth can-i` does (same output, same exit codes).

`yes` exits 0 and `no` exits 1; `--list` prints kubectl's table of the
rules the user holds in the namespace. Without `--as` the question is the
kind cluster's own kubeconfig user's (`kubernetes-admin`, group
system:masters). A resource is resolved as kubectl resolves it (plural,
singular, short name, `resource.group`); an unknown one is sent as written
after kubectl's warning; a cluster-scoped one keeps the namespace, after
kubectl's warning, exactly as kubectl sends it.
"""

from __future__ import annotations

import argparse
import sys

from netsim.cli.options import add_cluster_options, cluster_inputs

DEFAULT_USER = "kubernetes-admin"
DEFAULT_GROUPS = ("system:masters",)


def register(sub) -> None:
    """`netsim auth can-i`."""
    parser = sub.add_parser("auth", help="inspect authorization (RBAC)")
    auth_sub = parser.add_subparsers(dest="auth_command", metavar="SUBCOMMAND", required=True)
    can_i = auth_sub.add_parser("can-i", help="whether an action is allowed, as kubectl auth can-i answers")
    can_i.add_argument("verb", nargs="?", help="get, list, create, ... or * (omit with --list)")
    can_i.add_argument("resource", nargs="?", help="pods, deployments.apps, pods/log, *, or a URL path such as /logs")
    can_i.add_argument("name", nargs="?", help="a resource name (resourceNames)")
    can_i.add_argument("-n", "--namespace", default="default", help="namespace of the request (default: default)")
    can_i.add_argument("-A", "--all-namespaces", action="store_true", help="ask for every namespace at once")
    can_i.add_argument("--subresource", default="", help="a subresource such as log or status")
    can_i.add_argument("--as", dest="as_user", metavar="USER",
                       help="impersonate a user or system:serviceaccount:NS:NAME")
    can_i.add_argument("--as-group", dest="as_groups", action="append", default=[], metavar="GROUP",
                       help="impersonate a group (repeatable)")
    can_i.add_argument("--list", action="store_true", help="list every action allowed in the namespace")
    can_i.add_argument("-q", "--quiet", action="store_true", help="print nothing; only the exit code answers")
    add_cluster_options(can_i)
    can_i.set_defaults(handler=_can_i)


def _user(args: argparse.Namespace):
    from netsim.auth.rbac import UserInfo, impersonate

    if args.as_user is None:
        if args.as_groups:
            from netsim.api.errors import FieldError
            raise FieldError("requesting uid, groups or user-extra without impersonating a user", "--as-group")
        return UserInfo(DEFAULT_USER, DEFAULT_GROUPS + ("system:authenticated",))
    return impersonate(args.as_user, args.as_groups)


def _can_i(args: argparse.Namespace) -> int:
    from netsim.api.errors import FieldError
    from netsim.api.kinds import resolve_resource
    from netsim.auth.rbac import Attributes, Authorizer, access_list_rows
    from netsim.cli.tables import layout

    namespace = "" if args.all_namespaces else args.namespace
    user = _user(args)
    authorizer = Authorizer(cluster_inputs(args).build().store)
    if args.list:
        if args.verb or args.resource:
            raise FieldError("list option must be specified with no arguments", "--list")
        if not args.quiet:
            sys.stdout.write(layout(access_list_rows(authorizer.rules_for(user, namespace))))
        return 0
    if not args.verb or not args.resource:
        raise FieldError("you must specify two arguments: verb resource or verb resource/resourceName", "can-i")
    if args.resource.startswith("/"):
        if args.name or args.subresource:
            raise FieldError("NonResourceURL and ResourceName can not specified together", "can-i")
        attrs = Attributes(user, args.verb, resource_request=False, path=args.resource)
    else:
        resource, _, sub = args.resource.partition("/")
        subresource = args.subresource or sub
        group = ""
        if resource != "*":
            try:
                info = resolve_resource(resource)
            except FieldError:
                sys.stderr.write(f"Warning: the server doesn't have a resource type '{resource}'\n")
            else:
                resource, group = info.plural, info.group
                if not info.namespaced and not args.all_namespaces:
                    where = f" in group '{group}'" if group else ""
                    sys.stderr.write(f"Warning: resource '{resource}' is not namespace scoped{where}\n")
        attrs = Attributes(user, args.verb, namespace=namespace, api_group=group, resource=resource,
                           subresource=subresource, name=args.name or "")
    decision = authorizer.authorize(attrs)
    if not args.quiet:
        sys.stdout.write("yes\n" if decision.allowed else "no" + (f" - {decision.reason}" if decision.reason else "")
                         + "\n")
    return 0 if decision.allowed else 1
