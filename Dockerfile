FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY costapp ./costapp
RUN pip install --no-cache-dir -c constraints.txt . && useradd --create-home ledger
COPY manage.py ./
COPY templates ./templates
COPY static ./static
RUN SECRET_KEY=build DATABASE_URL=postgres://x@localhost/x python manage.py collectstatic --noinput
USER ledger
EXPOSE 8000
CMD ["gunicorn", "costapp.wsgi", "--bind", "0.0.0.0:8000"]
