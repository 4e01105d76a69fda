-- The sample's first (and only) migration.
CREATE TABLE notes (
    id serial PRIMARY KEY,
    body text NOT NULL
);
