"""An HTTP API's JWT authorizer, as API Gateway runs it before invoking the route's integration.

API Gateway's workflow ("Authorizing API requests with a JWT authorizer",
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html):
the token from the identity source (alone or after `Bearer `), its RSA signature checked against the
key named by its `kid` in the issuer's `jwks_uri` (from `{issuer}/.well-known/openid-configuration`),
`iss` equal to the authorizer's issuer, `aud` (or `client_id` when there is no `aud`) one of its
audiences, `exp` after and `nbf` before now, and, when the route has AuthorizationScopes, one of
them in the token's `scope` (or `scp`). A failed check is 401 `{"message":"Unauthorized"}` with a
`www-authenticate` header saying why; a valid token without a route scope is 403 `{"message":"Forbidden"}`
("Troubleshooting issues with HTTP API JWT authorizers",
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-jwt.html).
The signature and time checks are PyJWT's, not ours.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt

from localcloud.model import JwtAuthorizer

# API Gateway accepts only RSA-based algorithms.
_RSA_ALGORITHMS = ["RS256", "RS384", "RS512"]
_DISCOVERY_TIMEOUT_S = 5


@dataclass(frozen=True)
class Denied:
    status: int  # 401 or 403
    message: str  # API Gateway's body: {"message": ...}
    www_authenticate: str


@dataclass(frozen=True)
class Authorized:
    """What the integration sees in requestContext.authorizer (payload format 2.0)."""

    claims: dict[str, str]
    scopes: list[str] | None

    def context(self) -> dict[str, Any]:
        return {"jwt": {"claims": self.claims, "scopes": self.scopes}}


class JwtVerifier:
    """One authorizer's checks; the issuer's JWKS is fetched on first use and cached (PyJWKClient)."""

    def __init__(self, authorizer: JwtAuthorizer) -> None:
        self._authorizer = authorizer
        self._jwks: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    def authorize(self, headers: dict[str, str], scopes: tuple[str, ...]) -> Authorized | Denied:
        """`headers` lower-cased; `scopes` the route's AuthorizationScopes."""
        token = headers.get(self._authorizer.identity_header, "").strip()
        token = token[len("Bearer ") :].strip() if token[:7].lower() == "bearer " else token
        if not token:
            return _unauthorized("the token is missing")
        try:
            key = self._keys().get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=_RSA_ALGORITHMS,
                issuer=self._authorizer.issuer,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except (jwt.PyJWTError, OSError, ValueError, KeyError) as error:
            return _unauthorized(_describe(error))
        audience = claims.get("aud", claims.get("client_id"))
        audiences = audience if isinstance(audience, list) else [audience]
        if not set(audiences) & set(self._authorizer.audience):
            return _unauthorized("the token does not have a valid audience")
        granted = _token_scopes(claims)
        if scopes and not set(granted) & set(scopes):
            return Denied(403, "Forbidden", f'Bearer scope="{" ".join(scopes)}" error="insufficient_scope" error_description="the token does not have a required scope"')
        return Authorized({name: _claim_text(value) for name, value in claims.items()}, granted if scopes else None)

    def _keys(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._jwks is None:
                discovery = self._authorizer.issuer.rstrip("/") + "/.well-known/openid-configuration"
                with urllib.request.urlopen(discovery, timeout=_DISCOVERY_TIMEOUT_S) as response:  # noqa: S310 - the configured issuer
                    jwks_uri = json.load(response)["jwks_uri"]
                self._jwks = jwt.PyJWKClient(jwks_uri, cache_keys=True, timeout=_DISCOVERY_TIMEOUT_S)
            return self._jwks


def _unauthorized(description: str) -> Denied:
    return Denied(401, "Unauthorized", f'Bearer scope="" error="invalid_token" error_description="{description}"')


def _describe(error: Exception) -> str:
    if isinstance(error, jwt.ExpiredSignatureError):
        return "the token has expired"
    if isinstance(error, jwt.InvalidIssuerError):
        return "the token does not have a valid issuer"
    if isinstance(error, jwt.ImmatureSignatureError):
        return "the token is not valid yet"
    if isinstance(error, jwt.InvalidSignatureError):
        return "the token signature is invalid"
    return "the token is invalid"


def _token_scopes(claims: dict[str, Any]) -> list[str]:
    if isinstance(claims.get("scope"), str):
        return claims["scope"].split()
    scp = claims.get("scp")
    return [str(s) for s in scp] if isinstance(scp, list) else str(scp).split() if scp else []


def _claim_text(value: Any) -> str:
    """API Gateway hands every claim to the integration as a string; an array as `[a b]`."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
