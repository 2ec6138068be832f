"""Cluster DNS: CoreDNS's kubernetes and forward plugins as a server, glibc's stub resolver, dig's output.

message.py holds the DNS message as value objects; wire.py is the only
module that turns them into bytes (scapy's DNS layer); corefile.py reads the
Corefile; kubernetes.py answers as CoreDNS's kubernetes plugin does; server.py
is the application bound on port 53 of the CoreDNS pods; stub.py is glibc's
resolver logic over a transport the emulator provides; dig.py prints answers
the way dig does.
"""
