"""Access-token validation in-process (``socsec.kit.auth.TokenValidator.validate``).

Goal (issue "Registry and security"): p99 under 200 µs per validation. An RS256 or ES256
signature check alone costs tens of microseconds and its tail on a loaded machine goes past
the goal, so the validator remembers validated tokens until they expire (bounded LRU keyed
by the token's SHA-256): a client reuses its token for its whole lifetime (600 s by default),
so nearly every request is a lookup. Both figures are measured: ``uncached`` (every call
verifies the signature and the claims) and ``cached`` (the steady state).

Static JWKS, no I/O: the figures are the CPU cost on this machine, nothing else.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from joserfc import jwk, jwt

from socsec.kit.auth import DIMONA_CONSULT_SCOPE, DIMONA_DECLARANT_SCOPE, TokenValidator

ISSUER = "http://127.0.0.1:8101"
AUDIENCE = "socsec"
GOAL_P99_US = 200.0


def _signing_key(alg: str) -> jwk.Key:
    if alg == "RS256":
        return jwk.generate_key("RSA", 2048, parameters={"alg": alg}, auto_kid=True)
    return jwk.generate_key("EC", "P-256", parameters={"alg": alg}, auto_kid=True)


def _tokens(key: jwk.Key, alg: str, count: int) -> list[str]:
    """``count`` distinct access tokens shaped like the registry's, one per client."""
    now = int(time.time())
    tokens = []
    for i in range(count):
        client_id = f"self_service_expeditor_{i:05d}"
        claims = {
            "iss": ISSUER,
            "sub": client_id,
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "jti": uuid.uuid4().hex,
            "client_id": client_id,
            "scope": f"{DIMONA_CONSULT_SCOPE} {DIMONA_DECLARANT_SCOPE}",
            "org": f"M-{i % 30:03d}",
            "gender_encoding": "glossary",
        }
        header = {"alg": alg, "kid": key.kid, "typ": "at+jwt"}
        tokens.append(jwt.encode(header, claims, key, algorithms=[alg]))
    return tokens


async def _measure(validator: TokenValidator, tokens: list[str], n: int) -> list[int]:
    for token in tokens:  # warm-up: keys fetched, cache filled when enabled
        await validator.validate(token)
    clock = time.perf_counter_ns
    timings = []
    for i in range(n):
        token = tokens[i % len(tokens)]
        start = clock()
        await validator.validate(token)
        timings.append(clock() - start)
    timings.sort()
    return timings


def run_token_validation(n: int = 20_000, clients: int = 1000) -> dict[str, float]:
    """p50/p99/max of ``validate`` in µs for RS256 and ES256, without and with the cache."""
    results: dict[str, float] = {"validations": float(n), "clients": float(clients)}
    for alg in ("RS256", "ES256"):
        key = _signing_key(alg)
        jwks = {"keys": [key.as_dict(private=False)]}
        tokens = _tokens(key, alg, clients)
        for mode, cache_size in (("uncached", 0), ("cached", 10_000)):
            validator = TokenValidator(jwks, ISSUER, AUDIENCE, token_cache_size=cache_size)
            timings = asyncio.run(_measure(validator, tokens, n))
            prefix = f"{alg.lower()}_{mode}"
            results[f"{prefix}_p50_us"] = timings[len(timings) // 2] / 1000
            results[f"{prefix}_p99_us"] = timings[int(len(timings) * 0.99)] / 1000
            results[f"{prefix}_max_us"] = timings[-1] / 1000
    results["goal_p99_us"] = GOAL_P99_US
    return results


if __name__ == "__main__":
    for name, value in run_token_validation().items():
        print(f"{name:28} {value:10.1f}")
