//! Connection pools for SQLite and PostgreSQL behind one type, and migrations.

use crate::StoreError;
use crate::group_commit::Batcher;
use crate::history_cache::HistoryCache;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Connection, Executor};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// The database: a pool for reads, and a pool for writes (a single connection on SQLite, where
/// writers are serialized anyway; the same pool as reads on PostgreSQL).
#[derive(Clone, Debug)]
pub struct Db {
    pub engine: Engine,
    pub read: AnyPool,
    pub write: AnyPool,
    /// Group commit of deposits: concurrent deposits share a transaction and its flush.
    pub(crate) batcher: Batcher,
    pub(crate) history_cache: Arc<HistoryCache>,
    /// The reads of deposits (circuits, people), emptied when the deposit epoch moves.
    pub deposit_cache: Arc<crate::deposit_cache::DepositCache>,
}

/// A pooled PostgreSQL connection idle for this long is pinged before it is handed out
/// (HikariCP skips its alive check within 500 ms of a use in the same way).
pub const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// Every SQLite connection: WAL, a commit is on disk before it returns, foreign keys, and a
/// wait rather than an error when the writer holds the lock.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
     PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;";

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Connects and runs the migrations. `sqlite://` files are created when missing.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        install_default_drivers();
        if url.starts_with("sqlite:") {
            let url = if url.contains('?') {
                url.to_owned()
            } else {
                format!("{url}?mode=rwc")
            };
            let opts = || {
                AnyPoolOptions::new()
                    .acquire_timeout(Duration::from_secs(30))
                    // Local connections do not go stale; a ping per checkout costs a thread hop.
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(SQLITE_PRAGMAS).await?;
                            Ok(())
                        })
                    })
            };
            let write = opts().max_connections(1).connect(&url).await?;
            SQLITE_MIGRATIONS.run(&write).await?;
            // Readers keep more pages than SQLite's 2 MB default: lists over a large database
            // revisit the same index and table pages (32 MB each, allocated as used).
            let read = opts()
                .max_connections(4)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(SQLITE_PRAGMAS).await?;
                        conn.execute("PRAGMA cache_size=-32768;").await?;
                        Ok(())
                    })
                })
                .connect(&url)
                .await?;
            let batcher = Batcher::start(write.clone());
            Ok(Self {
                engine: Engine::Sqlite,
                read,
                write,
                batcher,
                history_cache: Arc::default(),
                deposit_cache: Arc::default(),
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(30))
                // sqlx pings every connection as it goes back to the pool; pinging it again as
                // it is handed out costs a round trip per checkout. Only a connection idle for
                // a while (the server may have cut it since) is pinged again; a dead one is
                // closed and another taken.
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= PING_IF_IDLE_FOR {
                            conn.ping().await?;
                        }
                        Ok(true)
                    })
                })
                .connect(url)
                .await?;
            POSTGRES_MIGRATIONS.run(&pool).await?;
            Ok(Self {
                engine: Engine::Postgres,
                read: pool.clone(),
                batcher: Batcher::start(pool.clone()),
                write: pool,
                history_cache: Arc::default(),
                deposit_cache: Arc::default(),
            })
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }

    /// Sets how long histories are cached (zero disables the cache).
    pub fn with_history_ttl(mut self, ttl: Duration) -> Self {
        self.history_cache = Arc::new(HistoryCache::new(ttl));
        self
    }

    /// A trivial query on each pool: used by `/healthz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Writes a consistent copy of an SQLite database to the new file `path` (`VACUUM INTO`:
    /// one transaction's snapshot, while others keep writing).
    pub async fn snapshot_into(&self, path: &std::path::Path) -> Result<(), StoreError> {
        if self.engine != Engine::Sqlite {
            return Err(StoreError::Unavailable(
                "a file snapshot is for SQLite only".into(),
            ));
        }
        let target = path.display().to_string().replace('\'', "''");
        sqlx::query(&format!("VACUUM INTO '{target}'"))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Closes both pools (every connection), e.g. before the file is copied or removed.
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}
