//! Storage: one sqlx pool over either an embedded SQLite file (the default) or PostgreSQL
//! (production). SQL is written once in the subset both accept (`$n` placeholders, TEXT dates,
//! BIGINT fen); each service keeps one set of migrations, with a backend's own file only where
//! the SQL must differ (see [`Migrations::combine`]).

use std::{path::Path, str::FromStr, time::Duration};

use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::Migrator,
    AnyPool, ConnectOptions,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend of a portable connection.
    pub fn of(conn: &sqlx::AnyConnection) -> Backend {
        if conn.backend_name() == "PostgreSQL" {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// Placeholders for `rows` rows of `cols` values, "(…), (…)", the first numbered `first`
    /// (from 1). On SQLite they are anonymous (`?`, numbered by SQLite in the order they appear,
    /// so values are bound in that order): there a numbered parameter costs a scan of every
    /// parameter's name at each bind — n² steps for a statement of n — so multi-row statements
    /// must not use them.
    pub fn rows(self, rows: usize, cols: usize, first: usize) -> String {
        let mut s = String::with_capacity(rows * (cols * 5 + 4));
        for r in 0..rows {
            if r > 0 {
                s.push_str(", ");
            }
            s.push('(');
            s.push_str(&self.list(cols, first + r * cols));
            s.push(')');
        }
        s
    }

    /// `n` placeholders separated by commas (for `IN (…)`), the first numbered `first`.
    pub fn list(self, n: usize, first: usize) -> String {
        let mut s = String::with_capacity(n * 5);
        for i in 0..n {
            if i > 0 {
                s.push_str(", ");
            }
            match self {
                Backend::Sqlite => s.push('?'),
                Backend::Postgres => {
                    s.push('$');
                    s.push_str(&(first + i).to_string());
                }
            }
        }
        s
    }
}

#[derive(Debug, Clone)]
pub struct Database {
    pub pool: AnyPool,
    pub backend: Backend,
    /// On PostgreSQL, a small native pool for what the portable pool cannot do or does slowly:
    /// bulk loads with COPY, and large reads and writes decoded in place (an import's
    /// transaction, recalculation chunks, a what-if's roll).
    pub bulk: Option<sqlx::PgPool>,
}

/// A service's migrations, one set per backend.
pub struct Migrations {
    pub sqlite: Migrator,
    pub postgres: Migrator,
}

impl Migrations {
    /// One source for both backends: `shared` holds every migration whose SQL both accept, and
    /// `sqlite` and `postgres` only the versions whose SQL differs (the same versions in each).
    /// A version in both `shared` and a backend's own set, or in one backend's set and not the
    /// other's, is a mistake in the sources and refused.
    pub fn combine(shared: &Migrator, sqlite: &Migrator, postgres: &Migrator) -> Result<Migrations, String> {
        let versions = |m: &Migrator| m.migrations.iter().map(|x| x.version).collect::<Vec<_>>();
        if versions(sqlite) != versions(postgres) {
            return Err(format!(
                "backend-specific migrations differ in versions: sqlite {:?}, postgres {:?}",
                versions(sqlite),
                versions(postgres)
            ));
        }
        let join = |own: &Migrator| -> Result<Migrator, String> {
            let mut all: Vec<sqlx::migrate::Migration> = shared.migrations.iter().cloned().collect();
            for m in own.migrations.iter() {
                if all.iter().any(|x| x.version == m.version) {
                    return Err(format!("migration {} is both shared and backend-specific", m.version));
                }
                all.push(m.clone());
            }
            all.sort_by_key(|m| m.version);
            let mut joined = clone_migrator(shared);
            joined.migrations = std::borrow::Cow::Owned(all);
            Ok(joined)
        };
        Ok(Migrations { sqlite: join(sqlite)?, postgres: join(postgres)? })
    }
}

static RUNTIME_SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static RUNTIME_POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

impl Database {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Database, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(sqlx::Error::Configuration(
                format!("unsupported database URL scheme in '{}'", crate::config::redact_url(url)).into(),
            ));
        };
        if backend == Backend::Sqlite {
            ensure_sqlite_dir(url)?;
        }
        let options = AnyConnectOptions::from_str(url)?.log_statements(tracing::log::LevelFilter::Trace);
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { max_connections.min(4) } else { max_connections })
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; the busy timeout makes a second
                        // writer wait instead of failing; foreign keys are off by default in SQLite.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA busy_timeout = 5000").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let bulk = match backend {
            Backend::Postgres => Some(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(4)
                    .min_connections(0)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_lazy(url)?,
            ),
            Backend::Sqlite => None,
        };
        Ok(Database { pool, backend, bulk })
    }

    /// A transaction that writes. On SQLite it begins as the writer (`BEGIN IMMEDIATE`): a
    /// deferred transaction that reads first and then writes cannot wait for another writer and
    /// fails with "database is locked"; an immediate one queues behind it (busy timeout). On
    /// PostgreSQL an ordinary transaction.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Apply the shared (audit) migrations, then the service's own. Versions never collide:
    /// shared ones are small numbers, services use timestamps.
    pub async fn migrate(&self, service: &Migrations) -> Result<(), sqlx::migrate::MigrateError> {
        let (shared, own) = match self.backend {
            Backend::Sqlite => (&RUNTIME_SQLITE, &service.sqlite),
            Backend::Postgres => (&RUNTIME_POSTGRES, &service.postgres),
        };
        let mut shared = clone_migrator(shared);
        shared.set_ignore_missing(true);
        shared.run(&self.pool).await?;
        let mut own = clone_migrator(own);
        own.set_ignore_missing(true);
        own.run(&self.pool).await
    }
}

fn clone_migrator(m: &Migrator) -> Migrator {
    Migrator { migrations: m.migrations.clone(), ignore_missing: m.ignore_missing, locking: m.locking, no_tx: m.no_tx }
}

fn ensure_sqlite_dir(url: &str) -> Result<(), sqlx::Error> {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path.starts_with(":memory:") {
        return Ok(());
    }
    if let Some(dir) = Path::new(path).parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
        }
    }
    Ok(())
}

/// Run one statement; for tests and maintenance commands.
pub async fn execute(db: &Database, sql: &str) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(sql).execute(&db.pool).await?.rows_affected())
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use sqlx::migrate::{Migration, MigrationType, Migrator};

    use super::Migrations;

    fn set(versions: &[i64]) -> Migrator {
        let migrations = versions
            .iter()
            .map(|v| {
                Migration::new(
                    *v,
                    Cow::Owned(format!("m{v}")),
                    MigrationType::Simple,
                    Cow::Owned(format!("-- {v}")),
                    false,
                )
            })
            .collect::<Vec<_>>();
        Migrator { migrations: Cow::Owned(migrations), ..Migrator::DEFAULT }
    }

    #[test]
    fn placeholders_are_numbered_on_postgresql_and_anonymous_on_sqlite() {
        use super::Backend;
        assert_eq!(Backend::Postgres.rows(2, 2, 3), "($3, $4), ($5, $6)");
        assert_eq!(Backend::Sqlite.rows(2, 2, 3), "(?, ?), (?, ?)");
        assert_eq!(Backend::Postgres.list(3, 2), "$2, $3, $4");
        assert_eq!(Backend::Sqlite.list(1, 2), "?");
    }

    #[test]
    fn shared_and_backend_migrations_are_joined_in_version_order() {
        let m = Migrations::combine(&set(&[1, 3]), &set(&[2]), &set(&[2])).unwrap();
        let versions = |m: &Migrator| m.migrations.iter().map(|x| x.version).collect::<Vec<_>>();
        assert_eq!(versions(&m.sqlite), [1, 2, 3]);
        assert_eq!(versions(&m.postgres), [1, 2, 3]);
        assert!(Migrations::combine(&set(&[1, 2]), &set(&[2]), &set(&[2])).is_err(), "both shared and specific");
        assert!(Migrations::combine(&set(&[1]), &set(&[2]), &set(&[3])).is_err(), "backends differ");
    }
}
