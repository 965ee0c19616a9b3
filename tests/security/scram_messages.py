"""The client side of one SCRAM exchange (RFC 5802 / 7677), for the tests
that speak SASL over raw sockets: first() is client-first, final() answers
the server-first with the proof, verify() checks the server's signature."""

import base64
import hashlib
import hmac
import os


class ScramClient:
    def __init__(self, user, password, mechanism="SCRAM-SHA-256", cache=None):
        """`cache` (a dict, optional): SaltedPassword by salt and iterations,
        so a benchmark's client does its PBKDF2 once, not per exchange."""
        self.h = hashlib.sha256 if mechanism == "SCRAM-SHA-256" else hashlib.sha512
        self.password = password
        self.cache = cache if cache is not None else {}
        self.first_bare = f"n={user},r={base64.b64encode(os.urandom(18)).decode()}"
        self.server_key = None
        self.auth_message = None

    def first(self):
        return ("n,," + self.first_bare).encode()

    def final(self, server_first):
        attrs = dict(kv.split("=", 1) for kv in server_first.decode().split(","))
        key = (attrs["s"], attrs["i"])
        if key not in self.cache:
            self.cache[key] = hashlib.pbkdf2_hmac(self.h().name, self.password.encode(),
                                                  base64.b64decode(attrs["s"]), int(attrs["i"]))
        salted = self.cache[key]
        client_key = hmac.new(salted, b"Client Key", self.h).digest()
        self.server_key = hmac.new(salted, b"Server Key", self.h).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        self.auth_message = f"{self.first_bare},{server_first.decode()},{without_proof}".encode()
        signature = hmac.new(self.h(client_key).digest(), self.auth_message, self.h).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final):
        want = hmac.new(self.server_key, self.auth_message, self.h).digest()
        return server_final == b"v=" + base64.b64encode(want)
