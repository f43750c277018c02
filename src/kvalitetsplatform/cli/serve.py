"""`kp serve`: the web platform and the JSON API on one port."""

from __future__ import annotations

import os

import typer

from kvalitetsplatform.cli.main import app, console, emit_json, settings


@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="Adressen der lyttes på."),
          port: int = typer.Option(8000, help="Porten der lyttes på."),
          demo: bool = typer.Option(False, "--demo", help="Opret demobrugere for hver rolle og et demo-lægesystem "
                                                          "(kun i udviklingstilstand) og vis dem ved start."),
          workers: int = typer.Option(0, help="Antal arbejdsprocesser (uvicorn; standard: én pr. kerne)."),
          json_out: bool = typer.Option(False, "--json", help="Skriv demobrugerne som JSON i stedet for en tabel.")
          ) -> None:
    """Start Kvalitetsplatformen: sider for læger, klynger, regioner, kommuner og KiAP, og API'et under /api/v1."""
    import uvicorn

    from kvalitetsplatform.web.app import missing_assets

    config = settings()
    missing = missing_assets()
    if missing:
        console.print(f"[red]Fejl:[/red] webbibliotekerne mangler ({', '.join(missing)}). Kør `bash scripts/setup.sh`.")
        raise typer.Exit(2)
    if demo:
        from kvalitetsplatform.web.demo import DEMO_PASSWORD, DemoError, seed_demo

        try:
            people = seed_demo(config)
        except DemoError as e:
            console.print(f"[red]Fejl:[/red] {e}")
            raise typer.Exit(2) from None
        base = f"http://{host}:{port}"
        if json_out:
            emit_json({"url": base, "password": DEMO_PASSWORD,
                       "users": [{"username": u.username, "role": u.role, "scope": u.scope, "landing": base + u.landing}
                                 for u in people],
                       "launch": f"{base}/demo/start/{people[0].username}"})
        else:
            roles = {"gp": "praktiserende læge", "practice_staff": "praksispersonale",
                     "cluster_coordinator": "klyngekoordinator", "regional_quality_unit": "regional kvalitetsenhed",
                     "municipality": "kommune", "public_viewer": "offentlig oversigt", "kiap_admin": "KiAP"}
            console.print(f"\nDemobrugere — adgangskode for alle: [bold]{DEMO_PASSWORD}[/bold] (log ind på {base}/log-ind)")
            for u in people:
                console.print(f"  {u.username:17} {roles.get(u.role, u.role)} ({u.scope or 'hele landet'})  "
                              f"{base}{u.landing}", soft_wrap=True)
            console.print(f"\nÅbn som læge fra lægesystemet (starttoken): {base}/demo/start/{people[0].username}",
                          soft_wrap=True)
        _protect_in_background()
    console.print(f"Kvalitetsplatformen kører på {base if demo else f'http://{host}:{port}'} — stop med Ctrl+C.",
                  soft_wrap=True)
    # one worker per core: a scope's first request (seconds protecting its views) does not hold up the rest
    uvicorn.run("kvalitetsplatform.web.serve_app:app", host=host, port=port, workers=workers or os.cpu_count() or 1,
                log_level="warning", proxy_headers=False)


def _protect_in_background() -> None:
    """The demo users' views protected ahead of their first request (`kp protect`, one process at low priority, so
    the server keeps a core); views already kept are only looked up."""
    import os
    import subprocess
    import sys

    subprocess.Popen([sys.executable, "-c", "from kvalitetsplatform.cli.main import app; app()", "protect",
                      "--workers", "1", "--json"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     preexec_fn=lambda: os.nice(10))
