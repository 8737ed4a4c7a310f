"""Schema editor: hypertables where TimescaleDB is installed, plain tables elsewhere."""

from timescale.db.backends.postgresql.schema import TimescaleSchemaEditor


class DatabaseSchemaEditor(TimescaleSchemaEditor):
    sql_create_pk_index = "CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})"

    def _timescale(self) -> bool:
        return self.connection.timescale_installed

    def _create_hypertable(self, model, field, should_migrate=False):
        if not self._timescale():
            return
        super()._create_hypertable(model, field, should_migrate)

    def _set_chunk_time_interval(self, model, field):
        if not self._timescale():
            return
        super()._set_chunk_time_interval(model, field)

    def _drop_primary_key(self, model):
        """Drop the key (a hypertable cannot keep it) and index the column instead.

        django-timescaledb leaves ``id`` with no index at all, so every lookup by
        primary key (the admin's change page, foreign keys) would scan every chunk.
        """
        super()._drop_primary_key(model)
        pk = model._meta.pk
        table = model._meta.db_table
        self.execute(
            self.sql_create_pk_index.format(
                name=self.quote_name(self._create_index_name(table, [pk.column], "_pk_idx")),
                table=self.quote_name(table),
                column=self.quote_name(pk.column),
            )
        )
