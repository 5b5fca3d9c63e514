-- API clients of the REST channel, the registry's token-signing keys, and the client
-- assertion ids already used (replay protection for private_key_jwt, RFC 7523 §3).

CREATE TABLE api_clients (
    client_id       text PRIMARY KEY CHECK (client_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{2,99}$'),
    -- The holder: a mandatary id (M-EXEMPLUM), a seat or branch id, or an employer's
    -- 9-digit NSSO number.
    organisation    text NOT NULL CHECK (organisation ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'),
    -- scrypt hash of the client secret (client_secret_basic); never the secret itself.
    secret_hash     text,
    -- Public keys of the client (private_key_jwt), a JWK Set {"keys": [...]}.
    jwks            jsonb NOT NULL DEFAULT '{"keys": []}'::jsonb,
    scopes          text[] NOT NULL DEFAULT '{}',
    gender_encoding text NOT NULL DEFAULT 'glossary'
                    CHECK (gender_encoding IN ('glossary', 'zero_based')),
    active          boolean NOT NULL DEFAULT true,
    description     text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    deactivated_at  timestamptz
);

CREATE INDEX api_clients_organisation ON api_clients (organisation);

CREATE TABLE client_assertion_jtis (
    client_id  text NOT NULL REFERENCES api_clients (client_id),
    jti        text NOT NULL,
    -- The assertion's own expiry (plus leeway): after it the assertion is refused anyway,
    -- so the row can go.
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);

CREATE INDEX client_assertion_jtis_expiry ON client_assertion_jtis (expires_at);

CREATE TABLE signing_keys (
    id          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,  -- order of creation: newest signs
    kid         text PRIMARY KEY,
    alg         text NOT NULL CHECK (alg IN ('RS256', 'ES256')),
    -- Readable by the registry's role only (each service role reaches only its schema).
    private_jwk jsonb NOT NULL,
    public_jwk  jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);
