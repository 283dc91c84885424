"""The unified control view: a read model folded from the alerts topic, served as a REST API,
a Server-Sent Events stream, CAP 1.2 exports and a web page, with department scoping."""
