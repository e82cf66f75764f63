"""Security primitives: authenticated encryption of data at rest, secret hashing, pseudonyms."""
