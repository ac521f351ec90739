"""SLA figures as the tender defines them (Appendix 4): computation, query, formats, export."""
