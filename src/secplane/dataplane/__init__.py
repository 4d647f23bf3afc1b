"""What runs next to the instances rather than behind the API: the instance metadata service
(``metadata``) and, on Linux hosts, the lab network and the security-group enforcer. The gateway never
imports this package; ``secplane serve`` starts what the flags ask for."""
