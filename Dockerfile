# One image for the web tier and the workers; the judge extra (torch, transformers) is opt-in so the
# web image stays small: build with --build-arg EXTRAS=judge for judge workers.
FROM python:3.11-slim
ARG EXTRAS=""
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 ARENA_DATA_DIR=/data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY arena ./arena
COPY judges ./judges
RUN pip install --upgrade pip && pip install -e ".${EXTRAS:+[$EXTRAS]}"
COPY . .
RUN SECRET_KEY=build python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["gunicorn", "arena.wsgi", "-b", "0.0.0.0:8000", "-w", "4", "--access-logfile", "-"]
