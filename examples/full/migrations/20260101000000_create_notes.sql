-- The example resource's table. Add the next table in a new file: sqlx applies files in name
-- order and records each one, so an applied migration never runs twice and must never change.
CREATE TABLE notes (
    id uuid PRIMARY KEY,
    title text NOT NULL,
    body text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX notes_created_at ON notes (created_at DESC);
