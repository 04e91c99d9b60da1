package graphfraud;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

/**
 * Starts Neo4j Community (embedded) with its Bolt connector on 127.0.0.1:PORT and authentication
 * on, sets the password of the user neo4j from the environment variable NEO4J_PASSWORD (never from
 * the command line, where other users could read it), prints "READY bolt://127.0.0.1:PORT" and
 * runs until its standard input closes or it is terminated, then shuts the database down cleanly.
 *
 * Usage: java -cp target/classes:target/lib/* graphfraud.Launcher HOME PORT
 * Further settings (e.g. server.memory.pagecache.size=512m) are read from HOME/neo4j-extra.conf
 * when that file exists.
 */
public final class Launcher {
    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: Launcher HOME PORT");
            System.exit(64);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);
        String password = System.getenv("NEO4J_PASSWORD");
        if (password == null || password.length() < 8) {
            System.err.println("NEO4J_PASSWORD must be set to at least 8 characters");
            System.exit(64);
        }
        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home);
        Path extra = home.resolve("neo4j-extra.conf");
        if (Files.exists(extra)) {
            builder.loadPropertiesFromFile(extra);
        }
        DatabaseManagementService dbms = builder
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(dbms::shutdown));
        // the system database administers users; a parameter, not text, carries the password
        dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
        System.out.println("READY bolt://127.0.0.1:" + port);
        System.out.flush();
        InputStream in = System.in;
        try {
            while (in.read() != -1) {
                // ignore anything written; end of input means the parent is gone
            }
        } catch (IOException ignored) {
            // treat as end of input
        }
        System.exit(0);
    }
}
