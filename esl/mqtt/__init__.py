"""The broker side of MQTT, one module per job (imported directly, so that the CLI does
not load amqtt unless it runs the embedded broker):

    embedded_broker     in-process amqtt broker on loopback (no broker URL configured)
    broker_choice       `configured_broker(url)`: the URL's broker or an embedded one
    mosquitto_config    mosquitto.conf, password file, ACL and credentials for a deployment
    mosquitto_password  the `$7$` PBKDF2-SHA512 hash Mosquitto's password file uses
    mosquitto_process   a throwaway Mosquitto on loopback (benchmarks)
    rabbitmq_config     rabbitmq.conf and definitions.json for a RabbitMQ cluster (MQTT plugin)
"""

__all__: list[str] = []
